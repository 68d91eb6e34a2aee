# jzgr in a container: `docker build -t jzgr .` then `docker run --rm jzgr --help`.
FROM python:3.11-slim
WORKDIR /opt/jzgr
COPY pyproject.toml README.md ./
COPY standard standard
COPY fixtures fixtures
COPY platform_client platform_client
COPY jzgr jzgr
COPY simulator simulator
COPY conformance conformance
COPY hardware_sim hardware_sim
COPY loadtests loadtests
RUN pip install --no-cache-dir . && useradd --create-home jzgr
USER jzgr
WORKDIR /work
EXPOSE 8700
ENTRYPOINT ["jzgr"]
CMD ["--help"]

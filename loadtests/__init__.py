"""The morning clock-in peak on locust (docs/loadtests.md): the morning model, the platform-side
locust user, the runner (alone or as a locust master), the end-to-end matcher, thresholds and report."""

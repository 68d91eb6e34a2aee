"""``jzgr standard …``: sign, verify, encrypt, decrypt and explain from the shell."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl

import typer

from standard import crypto, errors, explainer, methods, payload, signature
from standard.profile import get_profile
from standard.terminal import UsageProblem

app = typer.Typer(
    help="The interface standard as code: signatures, AES fields, payload validation.", no_args_is_help=True
)
Secret = Annotated[str, typer.Option(help="the appsecret (at least 16 bytes for AES: it supplies the IV)")]


class ProfileChoice(enum.StrEnum):
    """The strictness profiles of ``standard.profile`` (a test keeps the two lists equal)."""

    strict = "strict"
    lenient = "lenient"


def _aes_secret(secret: str) -> str:
    """The secret, refused in one line when AES cannot use it as a key."""
    size = len(secret.encode("utf-8"))
    if size < 16:
        raise UsageProblem(f"--secret has {size} bytes; AES needs at least 16 (the IV is its first 16 bytes)")
    return secret


@app.command("sign")
def sign_cmd(
    form: Annotated[str, typer.Argument(help="the form body (a=b&c=d…), without or with sign")],
    secret: Annotated[str, typer.Option(help="the appsecret")],
) -> None:
    """Print the sign of a form body, and the canonical string with the secret masked."""
    params = dict(parse_qsl(form, keep_blank_values=True))
    typer.echo(signature.compute_sign(params, secret))
    typer.echo(signature.sign_string(params, signature.mask_secret(secret)), err=True)


@app.command("explain")
def explain_cmd(
    form: Annotated[str, typer.Argument(help="the form body exactly as the client sent it")],
    secret: Annotated[str, typer.Option(help="the appsecret")],
) -> None:
    """Say which known mistake reproduces a wrong signature."""
    pairs = parse_qsl(form, keep_blank_values=True)
    result = explainer.explain(dict(pairs), secret, order=[k for k, _ in pairs])
    typer.echo(result.sentence)
    raise typer.Exit(0 if result.matched else 1)


@app.command("encrypt")
def encrypt_cmd(
    text: Annotated[str, typer.Argument(help="the plaintext of one field, e.g. an ID card number")],
    secret: Secret,
    aes128_outlier: Annotated[
        bool, typer.Option(help="encrypt with the AES-128 outlier key (the secret's first 16 bytes) some clients use")
    ] = False,
) -> None:
    """Encrypt one field value as the standard does (AES-CBC, key and IV from the secret), base64."""
    variant = crypto.AesVariant.OUTLIER_AES128 if aes128_outlier else crypto.AesVariant.STANDARD
    try:
        typer.echo(crypto.encrypt(text, _aes_secret(secret), variant))
    except ValueError as exc:  # a secret whose length is no AES key size
        raise UsageProblem(f"--secret: {exc}") from None


@app.command("decrypt")
def decrypt_cmd(
    text: Annotated[str, typer.Argument(help="the base64 ciphertext of one field")],
    secret: Secret,
) -> None:
    """Decrypt one field value; says so when only the AES-128 outlier key opens it (exit 1: it does not decrypt)."""
    try:
        plain, variant = crypto.decrypt_lenient(text, _aes_secret(secret))
    except crypto.DecryptError as exc:
        typer.echo(f"does not decrypt: {exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # a secret whose length is no AES key size
        raise UsageProblem(f"--secret: {exc}") from None
    typer.echo(plain)
    if variant is not crypto.AesVariant.STANDARD:
        typer.echo("warning: decrypted only with the AES-128 outlier key", err=True)


@app.command("validate")
def validate_cmd(
    method: Annotated[str, typer.Argument(help="e.g. WorkerAttendance.Add")],
    data: Annotated[Path, typer.Option(help="JSON file with the plaintext data")],
    profile: Annotated[
        ProfileChoice, typer.Option(help="strictness: the standard as written, or what the real platform accepts")
    ] = ProfileChoice.strict,
) -> None:
    """Validate a plaintext payload; print the platform-style errors (exit 1 when invalid)."""
    spec = methods.get(method)
    if spec is None:
        raise UsageProblem(f"unknown method {method!r}; known: {', '.join(methods.METHODS)}")
    try:
        text = data.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageProblem(f"--data {data}: cannot read it ({reason})") from None
    try:
        raw = payload.load_json(text)
        if spec.normalise:
            raw = spec.normalise(raw)
        payload.validate(spec.request, raw, profile=get_profile(profile.value))
    except errors.PayloadInvalid as exc:
        typer.echo(json.dumps([e.to_json() for e in exc.errors], ensure_ascii=False, indent=1))
        raise typer.Exit(1) from None
    typer.echo("valid")

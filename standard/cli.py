"""``jzgr standard …``: sign, verify, encrypt, decrypt and explain from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl

import typer

from standard import crypto, errors, explainer, methods, payload, signature
from standard.profile import get_profile

app = typer.Typer(
    help="The interface standard as code: signatures, AES fields, payload validation.", no_args_is_help=True
)


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
    text: str,
    secret: Annotated[str, typer.Option()],
    aes128_outlier: bool = typer.Option(False, help="AES-128 outlier"),
) -> None:
    variant = crypto.AesVariant.OUTLIER_AES128 if aes128_outlier else crypto.AesVariant.STANDARD
    typer.echo(crypto.encrypt(text, secret, variant))


@app.command("decrypt")
def decrypt_cmd(text: str, secret: Annotated[str, typer.Option()]) -> None:
    try:
        plain, variant = crypto.decrypt_lenient(text, secret)
    except crypto.DecryptError as exc:
        typer.echo(f"does not decrypt: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(plain)
    if variant is not crypto.AesVariant.STANDARD:
        typer.echo("warning: decrypted only with the AES-128 outlier key", err=True)


@app.command("validate")
def validate_cmd(
    method: Annotated[str, typer.Argument(help="e.g. WorkerAttendance.Add")],
    data: Annotated[Path, typer.Option(help="JSON file with the plaintext data")],
    profile: Annotated[str, typer.Option(help="strict or lenient")] = "strict",
) -> None:
    """Validate a plaintext payload; print the platform-style errors."""
    spec = methods.get(method)
    if spec is None:
        typer.echo(f"unknown method {method!r}", err=True)
        raise typer.Exit(2)
    try:
        raw = payload.load_json(data.read_text(encoding="utf-8"))
        if spec.normalise:
            raw = spec.normalise(raw)
        payload.validate(spec.request, raw, profile=get_profile(profile))
    except errors.PayloadInvalid as exc:
        typer.echo(json.dumps([e.to_json() for e in exc.errors], ensure_ascii=False, indent=1))
        raise typer.Exit(1) from None
    typer.echo("valid")

"""C2PA Content Credentials: a signed manifest in every output that says it is synthetic.

Why C2PA: it is how Adobe, Microsoft, OpenAI and Google declare generated media
(and how the EU AI Act's labelling is being met); any C2PA reader shows our
outputs as "created with a trained model". The manifest's action is
``c2pa.created`` with ``digitalSourceType`` = IPTC ``trainedAlgorithmicMedia``,
names twoface and the model's architecture and iteration (never the people),
and carries a ``c2pa.soft-binding`` assertion pointing at the invisible
watermark, so a copy whose metadata was stripped can be linked back by it.

Signing is offline. The key and certificate chain come from
``TWOFACE_C2PA_KEY`` / ``TWOFACE_C2PA_CERT`` (PEM files: a real certificate
from a C2PA-trusted CA), else from ``<config>/twoface/c2pa/{key,cert}.pem``;
when neither exists a local CA and an ES256 signing certificate under it are
generated there on first use (readers then show "unknown signer"). ``<config>``
is ``$XDG_CONFIG_HOME`` or ``~/.config``.

c2pa-python is optional (``pip install 'twoface[provenance]'``): without it
outputs are still written, labelled and watermarked, and one warning says how
to add the credentials. Refusing to write would punish users on platforms
without the native wheel while the label and watermark already mark the file.
"""
from __future__ import annotations

import datetime
import functools
import io
import json
import logging
import os
from pathlib import Path

from .. import __version__
from ..errors import OutputError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'twoface[provenance]'  (c2pa-python and cryptography)"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
SOFT_BINDING_ALG = "org.twoface.watermark.ring64.v2"  # not in the C2PA soft-binding registry
MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".png": "image/png",
        ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_SETTINGS = {"builder": {"thumbnail": {"enabled": False}},
             "verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
_warned = False


def available() -> bool:
    """Whether c2pa-python (and cryptography) can be imported."""
    try:
        import c2pa  # type: ignore[import-untyped]  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def config_dir() -> Path:
    """Where twoface keeps per-user settings: ``$XDG_CONFIG_HOME/twoface`` or ``~/.config/twoface``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twoface"


# ------------------------------------------------------------------ keys
def signing_files() -> tuple[Path, Path]:
    """(certificate chain PEM, private key PEM): the user's, else the local pair (made on first use)."""
    cert, key = os.environ.get("TWOFACE_C2PA_CERT"), os.environ.get("TWOFACE_C2PA_KEY")
    if cert or key:
        if not (cert and key):
            raise OutputError("set both TWOFACE_C2PA_CERT and TWOFACE_C2PA_KEY (PEM files), or neither",
                              cert or key)
        return Path(cert), Path(key)
    folder = config_dir() / "c2pa"
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if not (cert_path.exists() and key_path.exists()):
        _make_local_pair(folder)
    return cert_path, key_path


def _make_local_pair(folder: Path) -> None:
    """A local CA and an ES256 leaf (digitalSignature, emailProtection) signed by it; c2pa refuses bare self-signed leaves."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from ..fsutil import atomic_write_bytes

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "twoface local signer (untrusted)")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                             crl_sign=not sign, encipher_only=False, decipher_only=False)

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("twoface local CA")).issuer_name(name("twoface local CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("twoface")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / "key.pem", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
        os.chmod(folder / "key.pem", 0o600)
        atomic_write_bytes(folder / "cert.pem", leaf.public_bytes(pem) + ca.public_bytes(pem))
    except OSError as err:
        raise OutputError(f"cannot store the local C2PA signing key ({err.strerror})", folder) from err
    log.info("made a local C2PA signing key in %s (readers will show an unknown signer)", folder)


@functools.lru_cache(maxsize=4)
def _signer_material(cert: Path, key: Path) -> tuple[bytes, bytes]:
    try:
        return cert.read_bytes(), key.read_bytes()
    except OSError as err:
        raise OutputError(f"cannot read the C2PA signing certificate or key ({err.strerror})", cert) from err


def _context():
    import c2pa

    return c2pa.Context(c2pa.Settings.from_dict(_SETTINGS))


# ------------------------------------------------------------------ writing
def manifest(title: str, model: dict | None = None, watermark: bool = True) -> dict:
    """The manifest definition twoface signs: created by twoface with a trained model."""
    params: dict = {"description": "faces replaced by a trained autoencoder (twoface convert)"}
    if model:
        params["model"] = {k: model[k] for k in ("architecture", "iteration") if model.get(k) is not None}
    assertions = [{"label": "c2pa.actions", "data": {"actions": [{
        "action": "c2pa.created", "digitalSourceType": TRAINED,
        "softwareAgent": {"name": "twoface", "version": __version__}, "parameters": params}]}}]
    if watermark:
        from . import watermark as wm

        assertions.append({"label": "c2pa.soft-binding", "data": {
            "alg": SOFT_BINDING_ALG,
            "blocks": [{"scope": {}, "value": f"{wm.KEY:08x}"}],
        }})
    return {"claim_generator_info": [{"name": "twoface", "version": __version__}], "title": title,
            "assertions": assertions}


def sign_file(path: str | Path, title: str, suffix: str | None = None, model: dict | None = None,
              watermark: bool = True) -> bool:
    """Embed signed Content Credentials into the file at ``path`` in place; False if not possible.

    ``path`` is usually a writer's temporary file, so the format comes from
    ``suffix`` (the final name's). Formats C2PA cannot carry are left as they are.
    """
    path = Path(path)
    mime = MIME.get((suffix or path.suffix).lower())
    if mime is None:
        log.warning("%s: this format cannot carry C2PA Content Credentials (use .mp4, .mov, .png, .jpg "
                    "or .gif for them); it is still labelled and watermarked", title)
        return False
    if not available():
        _warn_missing()
        return False
    import c2pa

    cert, key = _signer_material(*signing_files())
    signed = path.with_name(path.name + ".c2pa")
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None))
        with open(path, "rb") as src, open(signed, "w+b") as dst, \
                c2pa.Builder.from_json(json.dumps(manifest(title, model, watermark)), _context()) as builder:
            builder.sign(signer, mime, src, dst)
        os.replace(signed, path)
    except c2pa.C2paError as err:
        signed.unlink(missing_ok=True)
        raise OutputError(f"could not sign the C2PA Content Credentials ({err})", title) from err
    except BaseException:
        signed.unlink(missing_ok=True)
        raise
    return True


def sign_bytes(data: bytes, suffix: str, title: str, model: dict | None = None, watermark: bool = True) -> bytes:
    """``data`` (a PNG/JPEG/GIF file's bytes) with Content Credentials, or unchanged if not possible."""
    mime = MIME.get(suffix.lower())
    if mime is None or not available():
        if mime is not None:
            _warn_missing()
        return data
    import c2pa

    cert, key = _signer_material(*signing_files())
    dst = io.BytesIO()
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None))
        with c2pa.Builder.from_json(json.dumps(manifest(title, model, watermark)), _context()) as builder:
            builder.sign(signer, mime, io.BytesIO(data), dst)
    except c2pa.C2paError as err:
        raise OutputError(f"could not sign the C2PA Content Credentials ({err})", title) from err
    return dst.getvalue()


def _warn_missing() -> None:
    global _warned
    if not _warned:
        log.warning("outputs carry no C2PA Content Credentials because c2pa-python is not installed; "
                    "to add them: %s", INSTALL_HINT)
        _warned = True


# ------------------------------------------------------------------ reading
def read_credentials(path: str | Path) -> dict:
    """What a file's Content Credentials say: ``state`` valid / invalid / absent / unreadable, and the claims.

    ``valid`` means the signature and every hash check out (the file's bytes
    are as signed); ``trusted`` is whether the signer chains to a known C2PA
    trust anchor (never, for the local key).
    """
    path = Path(path)
    if not available():
        return {"state": "unavailable", "note": f"c2pa-python is not installed: {INSTALL_HINT}"}
    import c2pa

    mime = MIME.get(path.suffix.lower())
    if mime is None and path.suffix.lower().lstrip(".") not in c2pa.Reader.get_supported_mime_types():
        return {"state": "absent", "note": f"{path.suffix or 'this'} files cannot carry C2PA Content Credentials"}
    try:
        with open(path, "rb") as fh, c2pa.Reader(mime or path.suffix.lstrip("."), fh, None, _context()) as r:
            state = r.get_validation_state()
            active = r.get_active_manifest() or {}
            results = r.get_validation_results() or {}
    except c2pa.C2paError as err:
        text = str(err)
        if "ManifestNotFound" in type(err).__name__ or "not found" in text.lower():
            return {"state": "absent"}
        return {"state": "invalid", "errors": [text[:300]]}
    except OSError as err:
        return {"state": "unreadable", "errors": [str(err)]}
    failures = [f"{f.get('code')}: {f.get('explanation', '')}"
                for f in (results.get("activeManifest") or {}).get("failure", [])
                if f.get("code") != "signingCredential.untrusted"]  # reported as ``trusted`` instead
    out = {"state": "valid" if state in ("Valid", "Trusted") and not failures else "invalid",
           "trusted": state == "Trusted", "signer": (active.get("signature_info") or {}).get("common_name"),
           "claim_generator": [g.get("name") for g in active.get("claim_generator_info", [])]}
    for a in active.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            acts = a.get("data", {}).get("actions", [])
            out["actions"] = [x.get("action") for x in acts]
            out["digital_source_type"] = next((x.get("digitalSourceType") for x in acts
                                               if x.get("digitalSourceType")), None)
            out["model"] = next(((x.get("parameters") or {}).get("model") for x in acts
                                 if (x.get("parameters") or {}).get("model")), None)
        elif a.get("label") == "c2pa.soft-binding":
            out["soft_binding"] = a.get("data", {}).get("alg")
    if failures:
        out["errors"] = failures
    return out

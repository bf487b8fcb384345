"""How the browser playground may be served: never through a public share link, a warning when it listens beyond this
machine without a login, and login credentials from the environment (PLAYGROUND_AUTH=user:pass) so they are not
visible in `ps` as a command-line argument would be.

Used by `playground ui` (cli.py) and `playground.ui.gradio_app.launch/serve`. No Gradio import here.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError

AUTH_ENV = "PLAYGROUND_AUTH"
"""`user:password` for the browser playground's login page (the command line's --auth shows in `ps`; this does not)."""


class ExposureWarning(UserWarning):
    """The playground listens beyond this machine without a login."""


def parse_auth(value: str, source: str = "--auth") -> tuple[str, str]:
    """`user:password` -> (user, password). The error never repeats the value (it holds a password)."""
    user, sep, password = value.strip().partition(":")
    if not sep or not user or not password:
        raise ConfigurationError(
            f"{source}: expected USER:PASSWORD (both non-empty), e.g. {AUTH_ENV}=admin:a-long-passphrase",
            field=source,
        )
    return user, password


def auth_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The login from PLAYGROUND_AUTH, or None when it is not set."""
    value = (environ if environ is not None else os.environ).get(AUTH_ENV)
    if value is None or not value.strip():
        return None
    return parse_auth(value, AUTH_ENV)


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0 / :: (every interface)


def exposure_warning(host: str, auth: tuple[str, str] | None) -> str | None:
    """The warning to give when binding beyond loopback without a login (None when all is well)."""
    if auth is not None or is_loopback(host):
        return None
    return (
        f"The playground listens on {host}, reachable from other machines, without a login: anyone who can reach "
        f"it can use the server's API keys and run its tools. Set {AUTH_ENV}=user:password (or --auth), or bind "
        "to 127.0.0.1."
    )


def warn_if_exposed(host: str, auth: tuple[str, str] | None) -> str | None:
    message = exposure_warning(host, auth)
    if message is not None:
        warnings.warn(message, ExposureWarning, stacklevel=3)
    return message


def safe_launch_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Gradio launch options with `share` forced off (a public *.gradio.live link would expose the server's keys)."""
    out = dict(options)
    if out.get("share"):
        warnings.warn(
            "share=True was ignored: the playground is never published through a public share link. "
            f"Serve it on your network with a login ({AUTH_ENV}) instead.",
            ExposureWarning,
            stacklevel=3,
        )
    out["share"] = False
    return out

"""How a token is carried: header name, scheme and spacing. The one place that writes the scheme.

A `Presentation` turns a token into the metadata headers a call sends (gRPC metadata, HTTP headers,
a live client's rpc_metadata). Hostile shapes (no scheme, two spaces, a second header) are
presentations too, so every suite states how its token travels the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

BEARER = "Bearer"  # RFC 6750's scheme name; the server compares it case-insensitively


def bearer(token: str) -> str:
    """`<scheme> <token>`: the value clients send."""
    return f"{BEARER} {token}"


@dataclass(frozen=True)
class Header:
    """One header carrying the token (or a deliberately wrong value)."""

    name: str = ""  # "" = the header the server reads (its authHeaderName)
    scheme: str | None = BEARER  # None: the token without any scheme
    separator: str = " "
    suffix: str = ""  # appended after the token (trailing whitespace cases)
    text: str | None = None  # send this text instead of the token ("not-a-token", "")
    empty: bool = False  # an empty value, with no scheme at all

    def value(self, token: str) -> str:
        if self.empty:
            return ""
        body = self.text if self.text is not None else token
        if self.scheme is None:
            return body + self.suffix
        return f"{self.scheme}{self.separator}{body}{self.suffix}"

    def describe(self) -> str:
        if self.empty:
            shape = "(empty)"
        else:
            body = "<token>" if self.text is None else repr(self.text)
            shape = body if self.scheme is None else f"{self.scheme}{self.separator!r}{body}"
            shape += repr(self.suffix) if self.suffix else ""
        return f"{self.name or '<server header>'}: {shape}"


@dataclass(frozen=True)
class Presentation:
    headers: tuple[Header, ...] = (Header(),)

    def metadata(self, token: str | None, server_header: str) -> tuple[tuple[str, str], ...]:
        """The headers to send, lower-cased as gRPC carries them; none for an anonymous caller."""
        if token is None:
            return ()
        return tuple(((h.name or server_header).lower(), h.value(token)) for h in self.headers)

    def describe(self) -> list[str]:
        return [h.describe() for h in self.headers]


DEFAULT = Presentation()


def under(name: str) -> Presentation:
    """The usual value under another header name."""
    return Presentation((Header(name=name),))


def value_shape(**header: object) -> Presentation:
    return Presentation((Header(**header),))  # type: ignore[arg-type]

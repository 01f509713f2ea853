"""A keySourceURIs entry as the default token key provider opens it (openURI in
default_token_key_provider.go@v1.32.2:171-187): Go's url.Parse (net/url, the parts a key source URI
reaches), then a file read for the file scheme with no host or `localhost`, else http.Get. Pure: what is
read or asked for is a path and a host, never the file system or the network.

Before 1.32 (no file scheme) every URI goes to http.Get, which refuses any scheme but http and https.
"""

from __future__ import annotations

from dataclasses import dataclass

FILE, HTTP, FAILED = "file", "http", "failed"
_HEX = "0123456789abcdefABCDEF"
# Characters url.Parse accepts unescaped in a host (net/url shouldEscape, encodeHost mode).
_HOST_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:[]<>\""
)


# Characters url.URL.EscapedPath leaves as they are (net/url shouldEscape, encodePath mode).
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@")


class UrlError(ValueError):
    """url.Parse refuses the text."""


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str  # lower-cased, as url.Parse leaves it
    host: str  # "" when there is no authority
    path: str  # unescaped (url.URL.Path)
    opaque: str = ""  # "file:x/y": no path at all
    query: str = ""  # url.URL.RawQuery: as written, never escaped
    force_query: bool = False  # a lone '?'


@dataclass(frozen=True)
class Opened:
    """What openURI does with one URI: reads a file (`path`), asks a host over HTTP (`host`, `path`), or
    fails before either (`reason`)."""

    kind: str  # FILE, HTTP or FAILED
    path: str = ""
    host: str = ""
    reason: str = ""
    query: str = ""

    @property
    def request_target(self) -> str:
        """The request line's target http.Get sends (url.URL.RequestURI): the path escaped, the query as
        written (a space in it is sent raw, splitting the request line)."""
        target = "".join(
            chr(b) if chr(b) in _PATH_CHARS else f"%{b:02X}"
            for b in self.path.encode("utf-8", "surrogateescape")
        )
        return f"{target}?{self.query}" if self.query else target


def _unescape(text: str, host: bool = False) -> str:
    """net/url unescape (encodePath / encodeHost modes) on the text's UTF-8 bytes."""
    out = bytearray()
    raw = text.encode("utf-8")
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x25:  # %
            escape = raw[i : i + 3].decode("latin-1")
            if len(escape) < 3 or escape[1] not in _HEX or escape[2] not in _HEX:
                raise UrlError(f"invalid URL escape {escape!r}")
            if host and int(escape[1], 16) < 8 and escape != "%25":
                raise UrlError(f"invalid URL escape {escape!r}")  # only non-ASCII may be escaped in a host
            out.append(int(escape[1:], 16))
            i += 3
            continue
        if host and b < 0x80 and chr(b) not in _HOST_CHARS:
            raise UrlError(f"invalid character {chr(b)!r} in host name")
        out.append(b)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _scheme(raw: str) -> tuple[str, str]:
    """getScheme: letters, then digits + - . after the first; a ':' ends it; anything else means none."""
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise UrlError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _host(authority: str) -> str:
    """parseAuthority/parseHost: the host after any userinfo, its port checked (digits only)."""
    host = authority.rsplit("@", 1)[-1] if "@" in authority else authority
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise UrlError("missing ']' in host")
        port = host[end + 1 :]
    else:
        port = host[host.rfind(":") :] if ":" in host else ""
    if port and not (port.startswith(":") and port[1:].isascii() and (port[1:].isdigit() or port == ":")):
        raise UrlError(f"invalid port {port!r} after host")
    return _unescape(host, host=True)


def parse(raw: str) -> ParsedUrl:
    """url.Parse(raw), the fields openURI reads. Raises UrlError where Go's returns an error."""
    before_fragment = raw.split("#", 1)[0]
    _unescape(raw[len(before_fragment) + 1 :]) if "#" in raw else None  # the fragment's escapes are checked
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in before_fragment):
        raise UrlError("invalid control character in URL")  # only before '#': the fragment is cut first
    scheme, rest = _scheme(before_fragment)
    scheme = scheme.lower()
    force_query = rest.endswith("?") and rest.count("?") == 1
    rest, _, query = rest[:-1].partition("?") if force_query else rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return ParsedUrl(scheme, "", "", opaque=rest, query=query, force_query=force_query)
        if ":" in rest.split("/", 1)[0]:
            raise UrlError("first path segment in URL cannot contain colon")
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, rest = rest[2:].partition("/")
        rest = slash + rest
        host = _host(authority)
    return ParsedUrl(scheme, host, _unescape(rest), query=query, force_query=force_query)


def opened(uri: str, file_scheme: bool) -> Opened:
    """openURI(uri): `file_scheme`, the release reads file URIs (1.32+, ServerRules.file_key_sources)."""
    try:
        url = parse(uri)
    except UrlError as exc:
        return Opened(FAILED, reason=str(exc))
    if file_scheme and url.scheme == "file":
        # The host compared as written (case-sensitive, port included): default_token_key_provider.go:177.
        if url.host not in ("", "localhost"):
            return Opened(FAILED, reason="file URI with remote host is not supported")
        return Opened(FILE, path=url.path) if url.path else Opened(FAILED, reason="open : no such file")
    if url.scheme not in ("http", "https"):
        return Opened(FAILED, reason=f"unsupported protocol scheme {url.scheme!r}")
    if not url.host:
        return Opened(FAILED, reason="http: no Host in request URL")
    return Opened(HTTP, path=url.path or "/", host=url.host, query=url.query)


def same_file(path: str, file: str) -> bool:
    """Whether opening `path` opens the file at `file` (absolute, normal, its directories all there):
    the kernel's lookup collapses repeated slashes and `.` segments; a relative path, a `..`, a trailing
    `/` or `.` (a directory lookup on a file) or any other name does not reach it. Names are
    case-sensitive."""
    if not path.startswith("/") or "\x00" in path:
        return False
    segments = path.split("/")
    if segments[-1] in ("", "."):
        return False
    return [s for s in segments if s not in ("", ".")] == [s for s in file.split("/") if s]

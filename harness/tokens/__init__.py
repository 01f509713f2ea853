"""Tokens: signing keys, minted and forged tokens, the grid's token shapes, and how a token is carried."""

from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.tokens.mint import MintedToken, TokenSpec, describe, mint
from harness.tokens.presentation import DEFAULT, Header, Presentation, bearer

__all__ = [
    "DEFAULT",
    "Header",
    "MintedToken",
    "Presentation",
    "SigningKey",
    "TokenSpec",
    "bearer",
    "describe",
    "ec_key",
    "mint",
    "rsa_key",
]

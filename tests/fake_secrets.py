"""Clearly fake values of the secret shapes the portal masks, built from parts so no
scanner takes a test file for a leak. Each must never survive masking."""

PORTAL_TOKEN = "vzp_" + "FAKEfake0000portal-token_" + "0123456789abcdefgh"
NPM_TOKEN = "npm_" + "FAKEfake0000npmtoken" + "0123456789abcdef"
GITLAB_TOKEN = "glpat-" + "FAKEfake0000gitlab_x"
GOOGLE_KEY = "AIza" + "SyFAKEfake0000google-key_" + "0123456789"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
# Without a digit: masked only where its name says what it is.
AWS_SECRET_LETTERS = "wJalrXUtnFEMI/KxMDENG/" + "bPxRfiCYEXAMPLEKEY"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "FAKEfake0000github0000" + "0123456789abcd"
PEM_BODY = ("MIIEpAIBAAKCAQEAfakeFAKEfakeFAKE0123456789", "abcdefFAKEfakeFAKEfake+/0123456789==")


def pem(label: str) -> str:
    """A private key block as a tool prints it, with `label` (`RSA `, `OPENSSH `, …)."""
    return (
        f"-----BEGIN {label}PRIVATE KEY-----\n"
        + "\n".join(PEM_BODY)
        + f"\n-----END {label}PRIVATE KEY-----"
    )

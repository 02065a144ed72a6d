"""A local OpenID Connect identity provider for the sign-in test (issue 16 point 7).

Just enough of OIDC's authorization-code flow for Streamlit's ``st.login`` (Authlib over
httpx): discovery, an authorize endpoint that signs in one fixed e-mail at once (no form),
a token endpoint that checks the code, the client's secret and the redirect URI, and a
JWKS with the RSA key the ID token is signed with (RS256, by ``joserfc``, the JOSE library
Authlib itself uses).  It runs on 127.0.0.1 in a thread of the test process: nothing leaves
the machine.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class LocalIdP:
    """``with LocalIdP(email=…) as idp:`` serves at ``idp.url``; ``idp.tokens_issued`` counts
    the ID tokens it signed (the test's proof that the code exchange ran)."""

    def __init__(self, email: str, client_id: str = "povdash-test", client_secret: str = "s3cret-for-tests"):
        self.email, self.client_id, self.client_secret = email, client_id, client_secret
        self.key = RSAKey.generate_key(2048)
        self.kid = secrets.token_hex(4)
        self.codes: dict[str, dict] = {}
        self.tokens_issued = 0
        self.refused: list[str] = []
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, idp.metadata())
                elif url.path == "/jwks":
                    self._json(200, idp.jwks())
                elif url.path == "/authorize":
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    if q.get("client_id") != idp.client_id or q.get("response_type") != "code":
                        idp.refused.append("authorize")
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    idp.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce")}
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": q.get("state", "")}))
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                if urlparse(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                cid, csecret = form.get("client_id"), form.get("client_secret")
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    cid, _, csecret = base64.b64decode(auth[6:]).decode().partition(":")
                grant = idp.codes.pop(form.get("code", ""), None)
                if (cid, csecret) != (idp.client_id, idp.client_secret) or grant is None \
                        or grant["redirect_uri"] != form.get("redirect_uri"):
                    idp.refused.append("token")
                    self._json(400, {"error": "invalid_grant"})
                    return
                idp.tokens_issued += 1
                self._json(200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                 "expires_in": 300, "id_token": idp.id_token(grant["nonce"])})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def metadata(self) -> dict:
        return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}

    def jwks(self) -> dict:
        return {"keys": [{**self.key.as_dict(private=False), "use": "sig", "alg": "RS256", "kid": self.kid}]}

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "sub": "user-1", "email": self.email,
                  "email_verified": True, "iat": now, "exp": now + 300}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": self.kid}, claims, self.key)

    def __enter__(self) -> "LocalIdP":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A demo portal, "Portal de contratación (demo)": an outside site that signs people in only
through Portero, with Authlib as its OpenID Connect client.

It is a Django project of its own (settings, URLs, sessions in its own SQLite file) and imports
nothing from the rest of `portero`: it knows Portero only over HTTP, through the discovery
document at the issuer's /.well-known/openid-configuration, as any outside portal would.
`portero demo` registers it as a client and runs it with gunicorn.
"""

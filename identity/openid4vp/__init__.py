"""The portal as an OpenID4VP 1.0 verifier: signed authorization requests by reference, DCQL queries, answers by
``direct_post`` and ``direct_post.jwt``, and verification of SD-JWT VC presentations with key binding."""

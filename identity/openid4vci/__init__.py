"""The portal's OpenID4VCI 1.0 credential issuer: metadata, offers, the token, nonce and credential endpoints.

Credentials leave as SD-JWT VCs (``dc+sd-jwt``) bound to the wallet's key. Which credentials can be asked for is a
small registry of credential configurations (:mod:`identity.openid4vci.configurations`); apps outside identity add
their own there, so identity never imports them.
"""

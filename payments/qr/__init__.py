"""QR payment codes: signed tokens, issuing and blocking codes, dealer redemptions, invoices and statements."""

"""The double-entry ledger: result codes and values (types), rules (engine), writes (services), reads (selectors)."""

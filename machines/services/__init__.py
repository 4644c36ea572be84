"""Every write of the machines app, one module per concern: registry, charging (OCPP), settlement, machine payments."""

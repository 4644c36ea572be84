"""The OCPP gateway: charging stations connect over websockets at /ocpp/<station-id> (OCPP 1.6J and 2.0.1)."""

"""Websocket consumers that belong to the portal as a whole."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PortalStatusConsumer(AsyncJsonWebsocketConsumer):
    """Answers `{"type": "ping"}` with `{"type": "pong"}`: lets pages and probes check the websocket path is up."""

    async def receive_json(self, content: object, **kwargs: object) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_message"})

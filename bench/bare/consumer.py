"""The bare consumer: one group, each message's text sent as is."""

from channels.generic.websocket import AsyncWebsocketConsumer

GROUP = "bench.bare"


class BareConsumer(AsyncWebsocketConsumer):
    groups = [GROUP]  # joined by Channels before connect(), left after disconnect()

    async def bench_message(self, event: dict) -> None:
        await self.send(text_data=event["text"])

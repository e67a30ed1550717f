"""schemathesis hooks for fount-server: uploads are audio files, sent as bytes."""
import schemathesis

for media_type in ("audio/mpeg", "audio/mp4", "audio/flac", "audio/ogg", "audio/wav"):
    schemathesis.serializer.alias(media_type, "application/octet-stream")

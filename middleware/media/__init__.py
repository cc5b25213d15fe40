"""AIGC labels for images and audio (GB 45438-2025; LABEL-IMAGE-1, LABEL-AUDIO-1, LABEL-IMPLICIT-1,
LABEL-TAMPER-1): the visible image label, the rhythm audio label, the implicit ``AIGC`` object in each
container's metadata, inspection, and the ``/v1/images/*`` and ``/v1/audio/speech`` endpoints.

Modules: ``aigc`` (the object), ``xmp`` (TC260 XMP), ``image_label`` (visible label), ``images``
(PNG/JPEG/WebP), ``rhythm`` (the tone pattern), ``wav``, ``mp3``, ``other_audio`` (FLAC/Ogg), ``apply``
and ``inspect`` (one entry point each), ``c2pa_sign`` (optional C2PA), ``requests``, ``gates``,
``labelling``, ``endpoints`` and ``chat`` (the HTTP side), ``cli`` (``candor label``).
"""

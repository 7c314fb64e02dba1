"""DroidCall intent calling: the function schema, prompts' docs, retrieval, the call parser,
the Android intent mapper, synthetic training data and the DroidCall scorer.

The Android demo's core (``android_demo/core``) implements the same parser, mapper and
retrieval in Kotlin; both read ``tests/golden/intents/*.json`` so they cannot drift apart.
Modules import only the standard library, so the trainer and the CLI can use them cheaply.
"""

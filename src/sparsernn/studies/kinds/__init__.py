"""The study kinds: one module each, each registering one :class:`~sparsernn.registry.StudyKind`.

The registry imports every module here the first time a kind is looked up; adding a
kind means adding a module (see CONTRIBUTING.md).
"""

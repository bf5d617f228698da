"""Test-support code shared by every test folder: model builders (``models``) and media helpers."""

"""The fake LLM upstream (fake_llm.py) and the helper that runs it for tests (control.py)."""

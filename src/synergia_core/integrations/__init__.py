"""Storage for agent frameworks, on the public API.

One module per framework, each behind its own extra and imported only when
used:

- :mod:`synergia_core.integrations.langchain` (extra ``langchain``):
  LangChain's chat message history.
- :mod:`synergia_core.integrations.openai_agents` (extra ``openai-agents``):
  the OpenAI Agents SDK's ``Session``.
- :mod:`synergia_core.integrations.pydantic_ai` (extra ``pydantic-ai``):
  PydanticAI message histories.

Each works on a :class:`~synergia_core.Synergia` (sync) or an
:class:`~synergia_core.AsyncSynergia` (awaited, never pushed to a thread),
and is lossless: what the framework stores comes back equal. See
``docs/integrations.md``.
"""

__all__: list[str] = []

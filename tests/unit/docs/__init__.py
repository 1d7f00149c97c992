"""Every code block of README.md and docs/*.md is checked, so none can drift from the code.

What a block is comes from its language and, for a block that is not plain code, from an HTML
comment on the line before it (unseen on GitHub and on the site): ``<!-- snippet: KIND, ... -->``.

- Python, ``run`` (the default): runs as is. Lines ``# path/name.py`` split it into files, each run
  as module ``path.name`` (importable by the files after it); a ``settings.py`` file's settings must
  be ones Django, Celery, Channels or this app read, with values they accept, and a ``urls.py``
  file must define its ``urlpatterns``. Its GraphQL strings validate against the library schema.
- Python, ``settings``: an excerpt of a settings module (the whole block, or its settings.py file),
  run where what such a module defines above it is defined (``SETTINGS_ABOVE``), then checked so.
- GraphQL, ``library`` (the default) or ``example``: valid against the library's schema or the
  example site's.
- Shell, ``shell`` (the default): make targets exist in the Makefile, paths in the repository,
  ``module:name`` references in their module, ``manage.py`` commands in Django and pip
  requirements in pyproject.toml.
- TypeScript, ``ts`` (the default): its GraphQL template literals validate against the library schema.
- Any language: ``excerpt PATH``: the block's lines are PATH's, in order (PATH is tested itself);
  ``skip, REASON``: not run, for the reason given.
- Options ``NAME=MODULE``: the placeholder module NAME is MODULE while the block runs (in shell
  text, NAME is replaced); ``NAME=stub``: NAME exists but needs an app this project does not
  install, so an empty URLconf stands in.

Whatever its kind, a Python block's imports from ``user_tasks_graphql`` must name what exists.
"""

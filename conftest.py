# The plugin, for a checkout run without installing. Where the project is installed (`pip install -e .`, as
# the nox sessions do), its pytest11 entry point has already registered the plugin under this same name,
# and this line does nothing: pytest never sees it twice.
pytest_plugins = ["harness.pytest_plugin"]

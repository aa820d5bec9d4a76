"""Click commands of ``sd-model``, one module each; ``cli.py`` assembles them."""

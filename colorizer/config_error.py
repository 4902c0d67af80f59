"""The error every start-up check raises for a mistake in a config.

It lives below every layer so that a check may sit next to what it checks (a metric's size check
in ``evaluation``, a dataset's keys in ``engine``) and still raise the one error the tools catch
and print without a traceback.
"""

__all__ = ['ConfigError']


class ConfigError(ValueError):
    """A config names a key, a value or a registered type that does not work.

    The message names the key (dotted path), the value and what to change.
    """

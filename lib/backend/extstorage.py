"""ExtStorage providers on this node: finding them on the search path and
telling whether each is usable (the node side of gnt-storage diagnose)."""

import os
from typing import Any

from ganeti import pathutils
from ganeti.backend.common import CheckDefinitionFile, ErrnoName
from ganeti.utils import io

# the provider's programs (required, then optional) and its parameter list
REQUIRED_SCRIPTS = ("create", "attach", "detach", "remove", "grow", "setinfo", "verify")
OPTIONAL_SCRIPTS = ("open", "close", "snapshot")
PARAMETERS_FILE = "parameters.list"


class ProviderError(Exception):
  """Why a directory is not a usable ExtStorage provider."""


def _ReadParameters(provider_dir: str) -> list[list[str]]:
  """[name, description] per line of the provider's parameter list."""
  path = CheckDefinitionFile(provider_dir, PARAMETERS_FILE, True, False, ProviderError)
  try:
    text = io.ReadFile(path)
  except OSError as err:
    raise ProviderError("Error while reading the parameter list under path '%s': %s" %
                        (provider_dir, ErrnoName(err))) from None
  parameters = []
  for line in text.splitlines():
    words = line.split(None, 1)
    if words:
      parameters.append([words[0], words[1].strip() if len(words) > 1 else ""])
  return parameters


def LoadProvider(provider_dir: str) -> list[list[str]]:
  """The parameters of the provider in provider_dir; ProviderError if it
  lacks a file or one is unusable."""
  for name in REQUIRED_SCRIPTS:
    CheckDefinitionFile(provider_dir, name, True, True, ProviderError)
  for name in OPTIONAL_SCRIPTS:
    CheckDefinitionFile(provider_dir, name, False, True, ProviderError)
  return _ReadParameters(provider_dir)


def DiagnoseExtStorage() -> list[tuple[str, str, bool, str, list[list[str]]]]:
  """Every provider directory on the search path: (name, path, usable,
  why not, parameters)."""
  result = []
  for top in pathutils.ES_SEARCH_PATH:
    try:
      names = sorted(os.listdir(top))
    except OSError:
      continue
    for name in names:
      provider_dir = os.path.join(top, name)
      if not os.path.isdir(provider_dir):
        continue
      try:
        parameters = LoadProvider(provider_dir)
      except ProviderError as err:
        result.append((name, provider_dir, False, str(err), []))
        continue
      result.append((name, provider_dir, True, "", parameters))
  return result


CALLS: dict[str, Any] = {
  "extstorage_diagnose": DiagnoseExtStorage,
}

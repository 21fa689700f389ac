"""Logical units for Query2 through opcodes (OpQuery, OpQueryFields)."""

from typing import Any

from ganeti.cmdlib.base import NoHooksLU


class LUQuery(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> dict:
    return self.context.Query(self.op.what, self.op.fields, self.op.qfilter)


class LUQueryFields(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> dict:
    return self.context.QueryFields(self.op.what, self.op.fields)

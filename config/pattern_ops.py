"""An index expression that a LIKE 'prefix%' can use on PostgreSQL under any collation.

PostgreSQL's default btree only serves prefix LIKE in the "C" collation (our databases
are C.UTF-8, which does not count); `text_pattern_ops` serves it in every collation,
and equality too. SQLite (the embedded default) has no operator classes: there the
index is on the bare expression. Like django.contrib.postgres's OpClass (that app is
not installed), it must be an index-expression wrapper so that the operator class is
written after the parenthesised expression: `(UPPER("reference")) text_pattern_ops`.
"""

from django.db.models import Func
from django.db.models.indexes import IndexExpression


class PatternOps(Func):
    template = "%(expressions)s text_pattern_ops"
    constraint_validation_compatible = False

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


if PatternOps not in IndexExpression.wrapper_classes:
    IndexExpression.register_wrappers(*IndexExpression.wrapper_classes, PatternOps)

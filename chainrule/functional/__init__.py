"""All differentiable ops, grouped by family (one file each)."""
from chainrule.functional.elementwise import *  # noqa: F401,F403
from chainrule.functional.shape import *  # noqa: F401,F403
from chainrule.functional.join import *  # noqa: F401,F403
from chainrule.functional.reduction import *  # noqa: F401,F403
from chainrule.functional.sorting import *  # noqa: F401,F403
from chainrule.functional.indexing import *  # noqa: F401,F403
from chainrule.functional.linalg import *  # noqa: F401,F403
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.scatter import *  # noqa: F401,F403

"""Who may see and act on which statuses; ``OwnerPermissionBackend`` is named in settings by this path."""

from .core.permissions import (
    CANCEL_STATUS,
    DELETE_STATUS,
    VIEW_ARTIFACT,
    VIEW_STATUS,
    OwnerPermissionBackend,
    can,
    visible_artifacts,
    visible_statuses,
)

__all__ = [
    "CANCEL_STATUS",
    "DELETE_STATUS",
    "VIEW_ARTIFACT",
    "VIEW_STATUS",
    "OwnerPermissionBackend",
    "can",
    "visible_artifacts",
    "visible_statuses",
]

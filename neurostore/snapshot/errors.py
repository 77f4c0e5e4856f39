"""Errors raised by the snapshot exporters."""


class SnapshotError(ValueError):
    """An export was asked for something the snapshot cannot give.

    Examples are an inclusion filter on a note key the annotation does not declare, or an
    unknown coordinate space.
    """


class MalformedSnapshot(SnapshotError):
    """The snapshot data does not have the shape of a NIMADS studyset or annotation.

    Parameters
    ----------
    where : str
        Where in the input the problem is, e.g. ``"studies[3]"`` or ``"annotation.notes[0]"``.
    problem : str
        What is wrong there.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem

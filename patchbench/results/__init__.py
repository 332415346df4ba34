"""The results of legs: metrics, comparisons, retries and the summary."""


class SummaryError(ValueError):
    """A summary that cannot be read; the message names the file and what is missing.

    Here rather than in ``summary`` (pandas, scipy): the command line catches it
    in every job, and a run job holding the GPU should not import them first.
    """

"""The report's pieces: each module computes one part of the context from the summary's legs.

``legs`` reads rows and formats numbers; ``outcomes`` counts successes and
failures; ``versus`` sets agents against baseline and the human fix (and
the ISO-Bench quadrants); ``advice`` derives recommendations, infrastructure
figures and the appendix; ``plots`` draws figures from the finished context.
``patchbench.reporting.report`` puts them together and renders the templates.
"""

"""Recipes: the papers' protocols as one call, returning tidy DataFrames and plots.

``ladder``: model-ladder task scaling laws (Bhagia et al. 2024), see
`jaxfit.recipes.ladder`.
"""

from jaxfit.recipes.ladder import ladder

__all__ = ["ladder"]

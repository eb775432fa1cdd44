"""Looking at programs and models: text and HTML display, graph drawings, model pictures."""

"""Size limits the CLI needs before it compiles anything, in a module that imports nothing
(so parsing `rasp compile --help` does not load the compiler)."""

# Beyond this many parameters `compile_program` refuses unless told otherwise (about 0.4 GB of
# float64 weights, a few GB at peak while assembling).
# Weights live three times while compiling (numpy, torch, module): 150M float64 is ~3.6 GB,
# room for word-level programs with a few hundred words (translate.rasp: 49M at 95 words).
DEFAULT_MAX_PARAMS = 150_000_000

"""What the example scripts share, kept out of the framework: the command-line conventions
(:mod:`.cli`), the MNIST scripts' machinery (:mod:`.mnist`), their model zoo (:mod:`.models`),
checkpoints (:mod:`.checkpoint`), digit images (:mod:`.digits`), the plots (:mod:`.plots`) and
the notebook's hand-written numpy net (:mod:`.reference`)."""

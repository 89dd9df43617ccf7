"""usage: FEW=v2 python few.py <studyrag args>  -- more worked examples in the answer prompt"""
import os, sys
from studyrag import prompt as P
from studyrag.generate import Message  # noqa
M = type(P.PREAMBLE[0])
E3 = ("Why does the guide say batch normalization is only used at inference time?",
      (("Guide › Batch Normalization", "Batch normalization normalizes each mini-batch during training; at inference it uses running averages instead."),
       ("Guide › Inference", "At inference time the model only runs its forward pass.")),
      "The sources say otherwise: batch normalization normalizes each mini-batch during training, and at inference it uses running averages [1].")
E2 = ("Which activation functions does the guide recommend for hidden layers?",
      (("Guide › Hidden-Layer Activations", "For hidden layers the guide recommends ReLU or GELU, because sigmoid saturates."),
       ("Guide › Output Layers", "Output layers use softmax for 10 or 1000 classes and a linear unit for regression.")),
      "It recommends ReLU or GELU for hidden layers, because sigmoid saturates [1].")
E1 = (P._EXAMPLE_QUESTION, P._EXAMPLE_SOURCES, P._EXAMPLE_ANSWER)
variants = {"v1": [E2, E1], "v2": [E3, E2, E1], "v3": [E3, E1]}
ex = variants[os.environ["FEW"]]
msgs = [M("system", P.SYSTEM_PROMPT)]
for q, s, a in ex:
    msgs += [M("user", P.render_sources(q, s)), M("assistant", a)]
P.PREAMBLE = tuple(msgs)
from studyrag.cli import main
sys.argv = ['studyrag'] + sys.argv[1:]
main()

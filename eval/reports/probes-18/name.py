"""usage: python name.py <studyrag args> -- system prompt asks to name the idea as the sources do"""
import os, sys
from studyrag import prompt as P
M = type(P.PREAMBLE[0])
extra = os.environ.get("NAME_TEXT", " When the question describes an idea without naming it, name it as the sources do.")
sysmsg = P.SYSTEM_PROMPT.replace(" If the question assumes", extra + " If the question assumes", 1)
assert sysmsg != P.SYSTEM_PROMPT
P.SYSTEM_PROMPT = sysmsg
P.PREAMBLE = (M("system", sysmsg),) + tuple(P.PREAMBLE[1:])
from studyrag.cli import main
sys.argv = ['studyrag'] + sys.argv[1:]
main()

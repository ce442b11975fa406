from . import calc


def handler(input, context):
    return {"double": calc.double(input.get("x", 1))}

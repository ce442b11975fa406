def handler(input, context):
    return {"ok": 1}

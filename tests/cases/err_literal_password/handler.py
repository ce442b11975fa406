def handler(input, context):
    return {"ok": True}

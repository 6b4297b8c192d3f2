print("python module started")

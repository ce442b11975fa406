print("outside")

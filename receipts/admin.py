# Receipt admin screens are registered here once the receipt models exist.

from kycvault.cli import main

main()

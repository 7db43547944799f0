from corscheck.cli import main

main()

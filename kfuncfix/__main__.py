from kfuncfix.cli import main

main()
